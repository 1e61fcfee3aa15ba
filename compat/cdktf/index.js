"use strict";
// The project's one copy of cdktn, under the name the @cdktf/provider-* bindings require.
module.exports = require("cdktn");
