describe('project', () => {
  it('builds its public entry', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require('../dist/index.js');
    expect(typeof api).toBe('object');
  });
});
