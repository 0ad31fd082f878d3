export { type ChatStoreContractOptions, chatStoreContract } from './store-contract.js';
