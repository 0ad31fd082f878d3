import { multiInstanceSuite } from './multi-instance-suite.js';

multiInstanceSuite('redis');
