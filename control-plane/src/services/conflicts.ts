/** A lost conditional write (ConflictError from the store) as the API's 409, with the current version when known. */
import { ApiError } from "../../../shared/http/errors.js";
import { ConflictError } from "../db/store.js";

export async function conflictTo409<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new ApiError({
        status: 409,
        message: error.message,
        details: error.current === undefined ? undefined : { currentVersion: error.current },
      });
    }
    throw error;
  }
}
