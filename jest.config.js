// The @noble packages are ES modules only, so the whole project (and jest) runs as ESM: ts-jest emits
// ES modules (types stripped per file, as tsconfig's isolatedModules allows) and jest runs under
// --experimental-vm-modules. Type checking is `npm run typecheck`'s job, not the test runner's.
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { useESM: true, diagnostics: false }],
  },
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testMatch: ["<rootDir>/{core,server,signer,cli,test}/**/*.test.ts"],
  // Also the default of every hook: a suite's beforeAll that starts a signer and a server on a fresh
  // embedded database compiles PGlite's WebAssembly twice, which on two loaded cores can pass 30 s.
  testTimeout: 90000,
  globalSetup: "<rootDir>/test/support/global-setup.ts",
};
