// Kept until the run loop, the benches and the page-write tests call preparePage (src/pages/prepare-page.ts).
export { validateItems, type DriftNote, type ValidatedPage } from '../pages/validate.ts';
