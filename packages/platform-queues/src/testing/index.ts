export { type PlatformStoreContractOptions, platformStoreContract } from './platform-store-contract.js';
