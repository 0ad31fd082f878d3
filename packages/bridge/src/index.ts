export {
  Bridge,
  type BridgeConfig,
  type BridgeEndpointInput,
  type BridgeLink,
  type BridgeOrigin,
  createBridge,
} from './bridge.js';
