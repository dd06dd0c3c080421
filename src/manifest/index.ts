export {
  emptyManifest, heldBySnapshot, referencedKeys, tableFingerprint, type ColumnStats, type DataFile, type GarbageEntry,
  type Manifest, type PassSummary, type PublishedSnapshot, type PublishedTable, type ViewState,
} from './manifest.js'
export {
  applyEdit, ManifestEditError, StaleEditError, type CollectionEdit, type ManifestEdit, type QueueEdit,
} from './manifest_edit.js'
export {
  ManifestError, commitManifest, loadManifest, readLastPass, writeLastPass, type LoadedManifest,
} from './manifest_store.js'
