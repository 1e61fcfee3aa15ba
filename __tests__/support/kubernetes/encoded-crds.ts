/**
 * CRDs the platform renders objects of but that `../shared/crds` does not hold, encoded from
 * their upstream source at the pinned version: only the fields the platform uses, with the types
 * upstream gives them. A field not encoded here is reported as undeclared, like any field a CRD
 * does not declare (see crds.ts): add it here, from the same source, before using it.
 */

/**
 * Traefik's Middleware, `traefik.io/v1alpha1` (namespaced; the only served version), from
 * traefik-helm-chart v41.3.0 (Traefik v3.7.11), traefik/crds/traefik.io_middlewares.yaml:
 * `required: [metadata, spec]`; `spec.basicAuth` with `secret` (string: the name of a Secret in
 * the Middleware's namespace), `realm` (string), `removeHeader` (boolean), `headerField` (string);
 * `spec.ipAllowList` with `sourceRange` (array of strings) and `rejectStatusCode` (integer);
 * `ipStrategy` is left out on purpose (it would make the client an X-Forwarded-For entry).
 */
const TRAEFIK_MIDDLEWARE = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "middlewares.traefik.io" },
  spec: {
    group: "traefik.io",
    scope: "Namespaced",
    names: {
      kind: "Middleware",
      listKind: "MiddlewareList",
      plural: "middlewares",
      singular: "middleware",
    },
    versions: [
      {
        name: "v1alpha1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["metadata", "spec"],
            properties: {
              apiVersion: { type: "string" },
              kind: { type: "string" },
              metadata: { type: "object" },
              spec: {
                type: "object",
                properties: {
                  basicAuth: {
                    type: "object",
                    properties: {
                      headerField: { type: "string" },
                      realm: { type: "string" },
                      removeHeader: { type: "boolean" },
                      secret: { type: "string" },
                    },
                  },
                  ipAllowList: {
                    type: "object",
                    properties: {
                      rejectStatusCode: { type: "integer" },
                      sourceRange: { type: "array", items: { type: "string" } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/**
 * Strimzi 1.2.0 (strimzi/strimzi-kafka-operator tag 1.2.0, helm-charts/helm3/strimzi-kafka-operator/
 * crds/<file>, the CRDs the operator chart installs): Kafka, KafkaNodePool and KafkaUser, each
 * served ONLY as `kafka.strimzi.io/v1` (Strimzi 1.0.0 removed `v1beta2`, CHANGELOG.md "1.0.0").
 * Derived mechanically from each CRD's `openAPIV3Schema`: the subtree of the fields DataHub's
 * objects use (datahub-kafka.ts) with their upstream `type`, `required`, `enum`, `pattern`,
 * bounds and CEL `x-kubernetes-validations`; every other field is left out and so reported as
 * undeclared (add it here, from the same files, before using it).
 */
/** crds/040-Crd-kafka.yaml (Strimzi 1.2.0). */
const STRIMZI_KAFKA = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "kafkas.kafka.strimzi.io",
  },
  spec: {
    group: "kafka.strimzi.io",
    scope: "Namespaced",
    names: {
      kind: "Kafka",
      listKind: "KafkaList",
      plural: "kafkas",
      singular: "kafka",
    },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              apiVersion: {
                type: "string",
              },
              kind: {
                type: "string",
              },
              metadata: {
                type: "object",
              },
              spec: {
                type: "object",
                required: ["kafka"],
                properties: {
                  kafka: {
                    type: "object",
                    required: ["listeners"],
                    properties: {
                      version: {
                        type: "string",
                      },
                      listeners: {
                        type: "array",
                        minItems: 1,
                        items: {
                          type: "object",
                          required: ["name", "port", "type", "tls"],
                          properties: {
                            name: {
                              type: "string",
                              pattern: "^[a-z0-9]{1,11}$",
                            },
                            port: {
                              type: "integer",
                              minimum: 9092,
                            },
                            type: {
                              type: "string",
                              enum: [
                                "internal",
                                "route",
                                "tlsroute",
                                "loadbalancer",
                                "nodeport",
                                "ingress",
                                "cluster-ip",
                              ],
                            },
                            tls: {
                              type: "boolean",
                            },
                            authentication: {
                              type: "object",
                              required: ["type"],
                              properties: {
                                type: {
                                  type: "string",
                                  enum: ["tls", "scram-sha-512", "custom"],
                                },
                              },
                            },
                          },
                        },
                      },
                      config: {
                        "x-kubernetes-preserve-unknown-fields": true,
                        type: "object",
                      },
                      authorization: {
                        type: "object",
                        required: ["type"],
                        properties: {
                          type: {
                            type: "string",
                            enum: ["simple", "custom"],
                          },
                        },
                      },
                      template: {
                        type: "object",
                        properties: {
                          podDisruptionBudget: {
                            type: "object",
                            properties: {
                              maxUnavailable: {
                                type: "integer",
                                minimum: 0,
                              },
                            },
                          },
                        },
                      },
                    },
                  },
                  entityOperator: {
                    type: "object",
                    properties: {
                      userOperator: {
                        type: "object",
                        properties: {
                          resources: {
                            type: "object",
                            properties: {
                              limits: {
                                type: "object",
                                additionalProperties: {
                                  anyOf: [
                                    {
                                      type: "integer",
                                    },
                                    {
                                      type: "string",
                                    },
                                  ],
                                  pattern:
                                    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
                                  "x-kubernetes-int-or-string": true,
                                },
                              },
                              requests: {
                                type: "object",
                                additionalProperties: {
                                  anyOf: [
                                    {
                                      type: "integer",
                                    },
                                    {
                                      type: "string",
                                    },
                                  ],
                                  pattern:
                                    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
                                  "x-kubernetes-int-or-string": true,
                                },
                              },
                            },
                          },
                        },
                      },
                      template: {
                        type: "object",
                        properties: {
                          pod: {
                            type: "object",
                            properties: {
                              tolerations: {
                                type: "array",
                                items: {
                                  type: "object",
                                  properties: {
                                    effect: {
                                      type: "string",
                                    },
                                    key: {
                                      type: "string",
                                    },
                                    operator: {
                                      type: "string",
                                    },
                                    value: {
                                      type: "string",
                                    },
                                  },
                                },
                              },
                            },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** crds/045-Crd-kafkanodepool.yaml (Strimzi 1.2.0). */
const STRIMZI_KAFKA_NODE_POOL = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "kafkanodepools.kafka.strimzi.io",
  },
  spec: {
    group: "kafka.strimzi.io",
    scope: "Namespaced",
    names: {
      kind: "KafkaNodePool",
      listKind: "KafkaNodePoolList",
      plural: "kafkanodepools",
      singular: "kafkanodepool",
    },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              apiVersion: {
                type: "string",
              },
              kind: {
                type: "string",
              },
              metadata: {
                type: "object",
              },
              spec: {
                type: "object",
                required: ["replicas", "storage", "roles"],
                properties: {
                  replicas: {
                    type: "integer",
                    minimum: 0,
                  },
                  storage: {
                    type: "object",
                    required: ["type"],
                    properties: {
                      type: {
                        type: "string",
                        enum: ["ephemeral", "persistent-claim", "jbod"],
                      },
                      volumes: {
                        type: "array",
                        items: {
                          type: "object",
                          required: ["type"],
                          properties: {
                            deleteClaim: {
                              type: "boolean",
                            },
                            id: {
                              type: "integer",
                              minimum: 0,
                            },
                            kraftMetadata: {
                              type: "string",
                              enum: ["shared"],
                            },
                            size: {
                              type: "string",
                            },
                            type: {
                              type: "string",
                              enum: ["ephemeral", "persistent-claim"],
                            },
                          },
                        },
                      },
                    },
                  },
                  roles: {
                    type: "array",
                    items: {
                      type: "string",
                      enum: ["controller", "broker"],
                    },
                  },
                  resources: {
                    type: "object",
                    properties: {
                      limits: {
                        type: "object",
                        additionalProperties: {
                          anyOf: [
                            {
                              type: "integer",
                            },
                            {
                              type: "string",
                            },
                          ],
                          pattern:
                            "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
                          "x-kubernetes-int-or-string": true,
                        },
                      },
                      requests: {
                        type: "object",
                        additionalProperties: {
                          anyOf: [
                            {
                              type: "integer",
                            },
                            {
                              type: "string",
                            },
                          ],
                          pattern:
                            "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
                          "x-kubernetes-int-or-string": true,
                        },
                      },
                    },
                  },
                  jvmOptions: {
                    type: "object",
                    properties: {
                      "-Xmx": {
                        type: "string",
                        pattern: "^[0-9]+[mMgG]?$",
                      },
                      "-Xms": {
                        type: "string",
                        pattern: "^[0-9]+[mMgG]?$",
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** crds/044-Crd-kafkauser.yaml (Strimzi 1.2.0). */
const STRIMZI_KAFKA_USER = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: {
    name: "kafkausers.kafka.strimzi.io",
  },
  spec: {
    group: "kafka.strimzi.io",
    scope: "Namespaced",
    names: {
      kind: "KafkaUser",
      listKind: "KafkaUserList",
      plural: "kafkausers",
      singular: "kafkauser",
    },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: "object",
            required: ["spec"],
            properties: {
              apiVersion: {
                type: "string",
              },
              kind: {
                type: "string",
              },
              metadata: {
                type: "object",
              },
              spec: {
                type: "object",
                properties: {
                  authentication: {
                    type: "object",
                    required: ["type"],
                    "x-kubernetes-validations": [
                      {
                        rule: "self.type == 'tls' || (!has(self.validityDays) && !has(self.renewalDays))",
                        message:
                          "'validityDays' and 'renewalDays' can be configured only with 'type: tls'",
                      },
                      {
                        rule: "self.type != 'tls' || (has(self.renewalDays) == has(self.validityDays))",
                        message:
                          "Both 'validityDays' and 'renewalDays' must be set together, or both must be unset.",
                      },
                      {
                        rule: "self.type != 'tls' || !has(self.renewalDays) || !has(self.validityDays) || self.renewalDays < self.validityDays",
                        message:
                          "'renewalDays' must be less than 'validityDays'.",
                      },
                    ],
                    properties: {
                      type: {
                        type: "string",
                        enum: ["tls", "tls-external", "scram-sha-512"],
                      },
                    },
                  },
                  authorization: {
                    type: "object",
                    required: ["acls", "type"],
                    properties: {
                      acls: {
                        type: "array",
                        items: {
                          type: "object",
                          required: ["resource", "operations"],
                          properties: {
                            resource: {
                              type: "object",
                              required: ["type"],
                              properties: {
                                name: {
                                  type: "string",
                                },
                                patternType: {
                                  type: "string",
                                  enum: ["literal", "prefix"],
                                },
                                type: {
                                  type: "string",
                                  enum: [
                                    "topic",
                                    "group",
                                    "cluster",
                                    "transactionalId",
                                  ],
                                },
                              },
                            },
                            host: {
                              type: "string",
                            },
                            operations: {
                              type: "array",
                              items: {
                                type: "string",
                                enum: [
                                  "Read",
                                  "Write",
                                  "Create",
                                  "Delete",
                                  "Alter",
                                  "Describe",
                                  "ClusterAction",
                                  "AlterConfigs",
                                  "DescribeConfigs",
                                  "IdempotentWrite",
                                  "All",
                                ],
                              },
                            },
                          },
                        },
                      },
                      type: {
                        type: "string",
                        enum: ["simple"],
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const ENCODED_CRDS: readonly {
  kind?: string;
  spec?: Record<string, unknown>;
}[] = [
  TRAEFIK_MIDDLEWARE,
  STRIMZI_KAFKA,
  STRIMZI_KAFKA_NODE_POOL,
  STRIMZI_KAFKA_USER,
];
