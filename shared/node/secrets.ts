/**
 * Secrets for the Lambda functions: the value of `<NAME>` when set (local runs), else the
 * Secrets Manager secret whose ARN is in `<NAME>_SECRET_ARN`, fetched once per cold start.
 * The CDK app passes ARNs only, so no secret appears in the CloudFormation template.
 */
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

/** A required environment variable of a Lambda function. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Missing environment variable ${name}`);
  return value;
}

const cache = new Map<string, Promise<string>>();
let client: SecretsManagerClient | undefined;

export function secret(name: string): Promise<string> {
  const plain = process.env[name];
  if (plain) return Promise.resolve(plain);
  const arn = process.env[`${name}_SECRET_ARN`];
  if (!arn) return Promise.reject(new Error(`Set ${name} or ${name}_SECRET_ARN`));
  let value = cache.get(arn);
  if (!value) {
    client ??= new SecretsManagerClient({});
    value = client.send(new GetSecretValueCommand({ SecretId: arn })).then(({ SecretString }) => {
      if (!SecretString) throw new Error(`Secret ${arn} has no string value`);
      return SecretString;
    });
    value.catch(() => cache.delete(arn)); // retry on the next call
    cache.set(arn, value);
  }
  return value;
}

/** Like `secret`, but undefined when neither variable is set. */
export const optionalSecret = (name: string): Promise<string | undefined> =>
  process.env[name] || process.env[`${name}_SECRET_ARN`] ? secret(name) : Promise.resolve(undefined);
