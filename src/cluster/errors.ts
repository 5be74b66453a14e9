import { defineErrors } from '../errors.js';

export const clusterErrors = defineErrors({
  CLUSTER_CONFIG_INVALID: { status: 400, message: 'Cluster mode needs a PostgreSQL database and a nats:// URL' },
  CLUSTER_UNAVAILABLE: { status: 503, message: 'The cluster message bus (NATS) is not reachable' },
  CLUSTER_ROUTE_FAILED: { status: 502, message: 'The node holding the station failed to handle the call' },
});
