describe('runtime', () => {
  it('runs on Node.js 24 LTS, the version pinned by the node@24 devDependency', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });
});
