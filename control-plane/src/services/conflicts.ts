/** A lost conditional write as the API's 409: step 1 of the commit module, exported here as before. */
export { conflictTo409 } from "../commit/commit.js";
