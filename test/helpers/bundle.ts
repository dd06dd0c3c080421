/**
 * Bundles a worker (by default the deployable tail worker) exactly as `wrangler deploy` would (dry run,
 * no network), so end-to-end tests run the artifact users ship. `npm start` uses the same function.
 */
export { bundleWorker as bundleTailWorker, type BundledModule } from '../../scripts/bundle-worker.mjs'
