import { defineErrors } from '../errors.js';

export const stationErrors = defineErrors({
  STATION_UNKNOWN: { status: 404, message: 'No such station' },
  STATION_EXISTS: { status: 409, message: 'A station with this id already exists' },
  STATION_ID_INVALID: { status: 400, message: 'The station id is not a valid OCPP identity' },
  SECURITY_PROFILE_INVALID: { status: 400, message: 'The security profile must be 1, 2 or 3' },
  SECURITY_PROFILE_PRECONDITION: { status: 409, message: 'The station does not meet the requirements of that security profile' },
  PASSWORD_INVALID: { status: 400, message: 'The password does not meet OCPP password rules' },
  STATION_NOT_ACCEPTED: { status: 409, message: 'The station has not been accepted by the CSMS' },
  STATION_QUARANTINED: { status: 409, message: 'The station is quarantined' },
  ID_TOKEN_INVALID: { status: 400, message: 'The id token is invalid' },
});
