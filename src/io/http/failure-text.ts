// A control-plane call fails with a CpError, a plain object whose kind
// belongs in the text; anything else that fails is read by errorMessage.
import { errorMessage } from '../../ports/error-text';
import { describeCpError, isCpError } from '../../ports/control-plane';

export const cpFailureText = (e: unknown): string => (isCpError(e) ? describeCpError(e) : errorMessage(e));
