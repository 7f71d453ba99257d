/*
 * Jest loads the ESM packages of Nest 12 through @babel/plugin-transform-modules-commonjs, which
 * turns imports into calls of `require` — and so clashes with a module that declares its own
 * `const require = createRequire(import.meta.url)` (@nestjs/terminus' health-check decorator): the
 * imports would call that local before it exists. This plugin renames such a local first.
 */
module.exports = function localRequire() {
  return {
    name: 'rename-local-require',
    visitor: {
      // On entering the program, before the CommonJS transform adds its own `require` calls.
      Program(program) {
        program.traverse({
          VariableDeclarator(path) {
            const { id, init } = path.node;
            const isCreateRequire =
              init &&
              init.type === 'CallExpression' &&
              init.callee.type === 'Identifier' &&
              init.callee.name === 'createRequire';
            if (id.type === 'Identifier' && id.name === 'require' && isCreateRequire) {
              path.scope.rename('require', '_localRequire');
            }
          },
        });
      },
    },
  };
};
