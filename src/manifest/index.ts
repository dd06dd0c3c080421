export {
  collectionState,
  emptyManifest,
  referencedKeys,
  type CollectionState,
  type ColumnStats,
  type ColumnValue,
  type ConsumedSegment,
  type DataFile,
  type GarbageEntry,
  type Manifest,
  type PassSummary,
  type PendingRecompact,
  type ViewState,
} from './manifest.js'
export {
  applyEdit, ManifestEditError, StaleEditError, type CollectionEdit, type ManifestEdit, type QueueEdit,
} from './manifest_edit.js'
export { ManifestError, commitManifest, loadManifest, readLastPass, writeLastPass, type LoadedManifest } from './manifest_store.js'
