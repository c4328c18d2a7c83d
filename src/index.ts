// Public API of nixfleet-agent (the package entry, dist/index.js).
export {};
