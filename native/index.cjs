// Path of the compiled addon. Only apps/npu-backend/src/engine/native.ts loads it (docs/architecture.md).
const path = require("node:path");
exports.bindingPath = path.join(__dirname, "build", "Release", "gearbox.node");
