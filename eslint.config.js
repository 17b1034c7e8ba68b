// One linter for the whole tree, with type information (typescript-eslint's project service reads
// tsconfig.json). Formatting stays with prettier; tsc --noEmit runs separately in `npm run lint`.
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import { importX } from 'eslint-plugin-import-x'
import tseslint from 'typescript-eslint'

export default defineConfig(
  { ignores: ['dist/', 'data/', '.tap/', 'node_modules/', 'bench/results/'] },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      // import-x follows only files with these extensions, parsed by this parser.
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      // Resolves the `.js` specifiers of `module: nodenext` to the `.ts` files they compile from,
      // which import-x's own node resolver cannot do.
      'import-x/resolver-next': [
        createTypeScriptImportResolver({ project: `${import.meta.dirname}/tsconfig.json` }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // tap runs and awaits the subtests of t.test() itself; awaiting them is the exception.
        { allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: 'test' }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // `_name` marks a parameter kept for its position (callbacks, interface implementations).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'import-x/no-cycle': 'error',
      // An `async` function without an await is deliberate here: interface implementations
      // (InlineWriter, test doubles) turn a throw into a rejection, and tap subtests are async.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The operator page's browser scripts (src/admin/ui/tsconfig.json, which the project service
    // finds for them): plain scripts sharing one scope, so a top-level declaration may be used
    // only from another file and is not checked for use; locals still are.
    files: ['src/admin/ui/**/*.ts'],
    languageOptions: { sourceType: 'script' },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { vars: 'local', argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
)
