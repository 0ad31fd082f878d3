export {
  type ContainerRuntimeConfig,
  createContainerRuntime,
  defaultContainerSocket,
  type PluginContainerLimits,
} from './container-runtime.js';
export { PluginError, type PluginErrorCode, type PluginIssue } from './errors.js';
export {
  type CheckedHttpResponse,
  checkHttpResponse,
  matchPluginRoute,
  PLUGIN_RESPONSE_HEADERS,
  type PluginHttpRoute,
  type PluginRouteMatch,
} from './http-routes.js';
export {
  createMemoryPluginInstallationStore,
  type PluginInstallation,
  type PluginInstallationStore,
} from './installation-store.js';
export { createMemoryPluginJobRunStore, type PluginJobRunStore } from './job-run-store.js';
export {
  type PluginJobEvent,
  PluginJobScheduler,
  type PluginJobSchedulerConfig,
  type SchedulerClock,
} from './job-scheduler.js';
export { createMemoryKeyValueStore, type PluginKeyValueStore } from './key-value-store.js';
export {
  loadPluginPackage,
  MANIFEST_FILES,
  type PluginCapabilities,
  type PluginManifest,
  type PluginManifestInput,
  PluginManifestSchema,
  type PluginPackage,
  parsePluginManifest,
  parsePluginSchedule,
  resolvePluginSettings,
  type SettingDefinition,
} from './manifest.js';
export {
  type PluginTarballLimits,
  sha256OfFile,
  type UnpackPluginTarballOptions,
  unpackPluginTarball,
} from './package-installer.js';
export {
  type PluginCommand,
  PluginHost,
  type PluginHostConfig,
  type PluginHttpInput,
} from './plugin-host.js';
export type { PluginHostPorts, PluginRoom } from './plugin-host-ports.js';
export {
  PluginLifecycle,
  type PluginLifecycleConfig,
  type PluginTarballInput,
  PluginUpgradeRolledBackError,
  type PluginUpgradeStage,
} from './plugin-lifecycle.js';
export {
  type PluginEvent,
  type PluginExitReason,
  type PluginState,
  PluginSupervisor,
  type PluginSupervisorConfig,
} from './plugin-supervisor.js';
export {
  createProcessRuntime,
  detectNetworkIsolation,
  type NetworkIsolation,
  type PluginExit,
  type PluginProcessHandle,
  type PluginRuntime,
  type ProcessRuntimeConfig,
} from './process-runtime.js';
export { createMemoryPluginSettingsStore, type PluginSettingsStore } from './settings-store.js';
