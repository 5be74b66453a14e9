/** The monitor's error codes (docs/errors.md). */
import { defineErrors } from '../errors.js';

export const monitorErrors = defineErrors({
  MONITOR_ALERT_NOT_FOUND: { status: 404, message: 'No such alert' },
  MONITOR_ALERT_STATE: { status: 409, message: 'The alert is not in a state that allows this' },
  MONITOR_ACTION_NOT_FOUND: { status: 404, message: 'No such automatic action' },
  MONITOR_ACTION_UNDONE: { status: 409, message: 'The action was already undone' },
  MONITOR_QUERY_INVALID: { status: 400, message: 'The query parameters are invalid' },
  MONITOR_EVENT_INVALID: { status: 400, message: 'The security event is invalid' },
  MONITOR_CONFIG_INVALID: { status: 400, message: 'The monitor configuration is invalid' },
});
