/**
 * Vitest setup file (vitest.config.mts): constructs/platform.ts loads a cloud's constructs with
 * `require` when an environment of that cloud is first built, which vitest cannot do for
 * TypeScript (its `require` is Node's own). Imported here, through vitest, and handed over, the
 * platforms every test builds are those of the same modules the tests import.
 */
import * as aws from "../../constructs/aws";
import * as azure from "../../constructs/azure";
import * as gcp from "../../constructs/gcp";
import { provideCloudModules } from "../../constructs/platform";

provideCloudModules({ aws, azure, gcp });
