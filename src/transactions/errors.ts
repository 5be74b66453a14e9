import { defineErrors } from '../errors.js';

export const transactionErrors = defineErrors({
  TRANSACTION_NOT_ISSUED: { status: 409, message: 'The CSMS never issued this transaction id to this station' },
  TRANSACTION_UNKNOWN: { status: 404, message: 'No such transaction' },
  TRANSACTION_IDS_EXHAUSTED: { status: 503, message: 'No OCPP 1.6 transaction ids are left' },
  TRANSACTION_CONFIG_INVALID: { status: 400, message: 'The transactions configuration is invalid' },
  TRANSACTION_QUERY_INVALID: { status: 400, message: 'The transaction query is invalid' },
});
