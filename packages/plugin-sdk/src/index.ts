export {
  type CommandHandler,
  type CommandInput,
  definePlugin,
  type JobHandler,
  type JobInput,
  type KaiwaPlugin,
  type MessageHandler,
  type PluginContext,
  type PluginDefinition,
  type PluginTransport,
  type StepHandler,
  type StepInput,
} from './define-plugin.js';
export {
  JsonRpcClosedError,
  JsonRpcError,
  JsonRpcPeer,
  type JsonRpcPeerOptions,
  JsonRpcTimeoutError,
  type JsonRpcViolation,
} from './json-rpc-peer.js';
export {
  type HostMethods,
  type JsonValue,
  type LogLevel,
  type PluginMessage,
  type PluginMethods,
  type PluginSettings,
  PROTOCOL_VERSION,
  RpcErrorCode,
} from './protocol.js';
