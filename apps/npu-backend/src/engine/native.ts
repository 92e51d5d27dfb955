/** The one module that loads the compiled addon (native/build/Release/gearbox.node). */
import { createRequire } from "node:module";
import type { NativeAddon } from "./native-types.js";

const require = createRequire(import.meta.url);

let addon: NativeAddon | undefined;

/**
 * The loaded addon; throws a clear error if `npm install` did not build it. GEARBOX_ADDON may name
 * another build of it (kernel development against a separate build directory).
 */
export function nativeAddon(): NativeAddon {
  if (addon) return addon;
  const bindingPath =
    process.env.GEARBOX_ADDON || (require("@gearbox/native") as { bindingPath: string }).bindingPath;
  try {
    addon = require(bindingPath) as NativeAddon;
  } catch (err) {
    throw new Error(
      `gearbox: the native engine is not built (${bindingPath}): run 'npm install' (needs g++, make, python3). ${String(err)}`,
    );
  }
  return addon;
}
