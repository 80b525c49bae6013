var __webpack_exports__ = {};
console.log('strata cli: not wired yet');


