#!/usr/bin/env node
console.log("shim", process.argv.slice(2));
