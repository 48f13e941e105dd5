/* ESLint 8 configuration: TypeScript parser, Effect's dprint formatter rule and no barrel imports. */
module.exports = {
  root: true,
  parser: "@typescript-eslint/parser",
  parserOptions: { ecmaVersion: 2022, sourceType: "module" },
  plugins: ["@typescript-eslint", "@effect"],
  extends: ["eslint:recommended", "plugin:@typescript-eslint/recommended"],
  env: { node: true, es2022: true },
  ignorePatterns: ["dist", "node_modules", "examples/*/node_modules"],
  rules: {
    "no-console": "error",
    "no-restricted-syntax": [
      "error",
      {
        selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
        message: "Read time through Effect's Clock so TestClock can drive it."
      }
    ],
    "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    "@typescript-eslint/consistent-type-imports": "error",
    "@effect/no-import-from-barrel-package": [
      "error",
      { packageNames: ["effect", "@effect/platform", "@effect/platform-node"] }
    ],
    "@effect/dprint": [
      "error",
      {
        config: {
          indentWidth: 2,
          lineWidth: 100,
          semiColons: "asi",
          quoteStyle: "alwaysDouble",
          trailingCommas: "never",
          operatorPosition: "maintain",
          "arrowFunction.useParentheses": "force"
        }
      }
    ]
  },
  overrides: [
    {
      files: ["test/**/*.ts"],
      rules: { "no-console": "off" }
    }
  ]
}
