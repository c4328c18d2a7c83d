// The package's version, read from package.json at run time: it sits one
// directory above src/ and dist/ alike, and is outside tsc's rootDir.
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const VERSION: string = (require('../package.json') as { version: string }).version;
