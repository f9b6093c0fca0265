// Kept until the run loop, the benches and the page-write tests call preparePage (src/pages/prepare-page.ts).
export { toPageRows, type PageRow } from '../pages/page-rows.ts';
