// The @noble packages are ES modules only, so the whole project (and jest) runs as ESM:
// swc strips the types and keeps `import`, and jest runs under --experimental-vm-modules.
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript" }, target: "es2022" }, module: { type: "es6" } },
    ],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/{core,server,signer,cli,test}/**/*.test.ts"],
  testTimeout: 30000,
};
