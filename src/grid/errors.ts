/** The grid guard's error codes; src/api turns them into HTTP statuses, the gateway's callers see them as is. */
import { defineErrors } from '../errors.js';

export const gridErrors = defineErrors({
  GRID_LIMIT_EXCEEDED: { status: 409, message: 'The command would push a site, feeder or the fleet over its power limit' },
  GRID_RAMP_EXCEEDED: { status: 429, message: 'The command would change aggregate load faster than the allowed ramp rate' },
  GRID_SCHEDULE_RAMP_EXCEEDED: { status: 409, message: 'The charging profile schedules a step-up that, with the steps already scheduled, would change load faster than the ramp rate allows at that time' },
  GRID_SCHEDULE_LIMIT_EXCEEDED: { status: 409, message: 'The charging profile schedules a step-up that, with the steps already scheduled, would push a site, feeder or the fleet over its power limit at that time' },
  GRID_APPROVAL_REQUIRED: { status: 403, message: 'A mass action on this share of the fleet needs a second operator\'s approval' },
  GRID_APPROVAL_INVALID: { status: 409, message: 'The approval cannot be given' },
  GRID_NOT_FOUND: { status: 404, message: 'No such site, feeder or approval' },
  GRID_CONFLICT: { status: 409, message: 'The site or feeder is still in use' },
  GRID_INPUT_INVALID: { status: 400, message: 'The grid request is invalid' },
  GRID_CONFIG_INVALID: { status: 400, message: 'The grid configuration is invalid' },
});
