import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', 'bench/results/**', 'test-results/**'] }),
  {
    rules: {
      // "${env:NAME}" and "${file:PATH}" are sluice's secret references, written as plain strings on purpose.
      'no-template-curly-in-string': 'off',
    },
  },
]
