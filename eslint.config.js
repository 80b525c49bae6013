import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import jest from 'eslint-plugin-jest'

export default tseslint.config(
  { ignores: ['.tmp/**', 'dist/**', 'node_modules/**', 'coverage/**', 'lib/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }]
    }
  },
  {
    // The core is pure: no I/O, no runtime, no environment. Adapters do that.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': pureCoreImports('../'),
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'src/core is pure: pass values in.' }
      ]
    }
  },
  {
    // A folder inside the core (core/config/) is as pure, one level deeper.
    files: ['src/core/*/**/*.ts'],
    rules: { 'no-restricted-imports': pureCoreImports('../../') }
  },
  {
    // Arrows point one way: entry points → mode folders → core/ and adapters/. No mode folder or
    // adapter imports an entry point, and adapters never import a mode folder.
    files: [
      'src/adapters/**/*.ts',
      'src/plan/**/*.ts',
      'src/build/**/*.ts',
      'src/merge/**/*.ts',
      'src/cleanup/**/*.ts'
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*.js', '../plan/*', '../build/*', '../merge/*', '../cleanup/*'],
              message: 'a mode folder or adapter imports only core/, adapters/ and its own folder.'
            }
          ]
        }
      ]
    }
  },
  { files: ['__tests__/**/*.ts'], ...jest.configs['flat/recommended'] },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } }
  }
)

/** The core imports no I/O module and nothing above it; `up` is the way from a core file to src/. */
function pureCoreImports(up) {
  const io = ['@actions/*', 'fs', 'fs/*', 'node:fs', 'node:fs/*', 'child_process', 'node:child_process']
  const above = ['adapters/*', 'plan/*', 'build/*', 'merge/*', 'cleanup/*', '*.js'].map(p => up + p)
  return [
    'error',
    { patterns: [{ group: [...io, ...above], message: 'src/core is pure: do I/O in src/adapters.' }] }
  ]
}
