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
 * the Middleware's namespace), `realm` (string), `removeHeader` (boolean), `headerField` (string).
 */
const TRAEFIK_MIDDLEWARE = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "middlewares.traefik.io" },
  spec: {
    group: "traefik.io",
    scope: "Namespaced",
    names: { kind: "Middleware", listKind: "MiddlewareList", plural: "middlewares", singular: "middleware" },
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
                },
              },
            },
          },
        },
      },
    ],
  },
};

export const ENCODED_CRDS: readonly { kind?: string; spec?: Record<string, unknown> }[] = [TRAEFIK_MIDDLEWARE];
