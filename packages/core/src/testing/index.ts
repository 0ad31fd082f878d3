export { type AuditRepositoryContractOptions, auditRepositoryContract } from './audit-contract.js';
export { type BlobStoreContractOptions, blobStoreContract } from './blob-store-contract.js';
export {
  type BusContractOptions,
  busContract,
  type PresenceStoreContractOptions,
  presenceStoreContract,
} from './bus-contract.js';
export {
  type ChatModelContractOptions,
  type ChatModelContractTest,
  chatModelContract,
  type FailingChatModel,
} from './chat-model-contract.js';
export {
  type AccountStorageContractOptions,
  type AccountStorageContractTest,
  accountStorageContract,
  type ChatStorageContractOptions,
  type ChatStorageContractTest,
  type ChatStoreRepositoriesContractOptions,
  type ChatStoreRepositoriesContractTest,
  chatStorageContract,
  chatStoreRepositoriesContract,
  type ProjectStorageContractOptions,
  type ProjectStorageContractTest,
  projectStorageContract,
  type StorageUnderTest,
} from './chat-store-repositories/contract.js';
export { userFixture } from './chat-store-repositories/support.js';
export {
  type EmbeddingModelContractOptions,
  type EmbeddingModelContractTest,
  embeddingModelContract,
  type FailingEmbeddingModel,
} from './embedding-model-contract.js';
export {
  type PlatformAdapterContractOptions,
  type PlatformAdapterContractTest,
  type PlatformAdapterHarness,
  type PlatformHeldMessage,
  platformAdapterContract,
} from './platform-adapter-contract.js';
export {
  type PluginInstallationStoreContractOptions,
  type PluginInstallationStoreUnderTest,
  pluginInstallationStoreContract,
} from './plugin-installation-store-contract.js';
export {
  type PluginJobRunStoreContractOptions,
  type PluginJobRunStoreUnderTest,
  pluginJobRunStoreContract,
} from './plugin-job-run-store-contract.js';
export {
  type PluginKeyValueStoreContractOptions,
  type PluginKeyValueStoreUnderTest,
  pluginKeyValueStoreContract,
} from './plugin-key-value-store-contract.js';
export {
  type PluginSettingsStoreContractOptions,
  type PluginSettingsStoreUnderTest,
  pluginSettingsStoreContract,
} from './plugin-settings-store-contract.js';
export { type ChatStoreContractOptions, chatStoreContract } from './store-contract.js';
export * from './synthesizer-contract.js';
export * from './text-recognizer-contract.js';
export * from './transcriber-contract.js';
export {
  clusteredVectors,
  type VectorStoreContractOptions,
  type VectorStoreContractTest,
  vectorStoreContract,
} from './vector-store-contract.js';
