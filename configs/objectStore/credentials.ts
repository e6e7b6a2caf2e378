/**
 * The in-stack object store's key pair as the files that carry it: SeaweedFS' S3 identities
 * (`-s3.config`) and curl's config for the probe that creates the bucket. Both are written from
 * Pulumi secrets by the program and uploaded 0440; nothing here is logged or stored in the clear.
 */
import type { ObjectStoreCredentialsFormat } from "../../model";

export interface ObjectStoreKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The identity Tempo and the probe sign as: it may do everything to the store's buckets. */
export const OBJECT_STORE_IDENTITY = "tempo";

function seaweedfsIdentities(keys: ObjectStoreKeyPair): string {
  return `${JSON.stringify(
    {
      identities: [
        {
          name: OBJECT_STORE_IDENTITY,
          credentials: [{ accessKey: keys.accessKeyId, secretKey: keys.secretAccessKey }],
          actions: ["Admin", "Read", "List", "Tagging", "Write"],
        },
      ],
    },
    null,
    2,
  )}\n`;
}

/** curl's `--config` syntax: a quoted value, backslashes and quotes escaped. */
function curlConfig(keys: ObjectStoreKeyPair): string {
  const quoted = `${keys.accessKeyId}:${keys.secretAccessKey}`.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  return `user = "${quoted}"\n`;
}

/**
 * The AWS shared credentials file (INI), which Tempo's S3 client (minio-go's FileAWSCredentials,
 * after an empty environment) reads from AWS_SHARED_CREDENTIALS_FILE.
 */
function awsSharedCredentials(keys: ObjectStoreKeyPair): string {
  return `[default]\naws_access_key_id = ${keys.accessKeyId}\naws_secret_access_key = ${keys.secretAccessKey}\n`;
}

export function renderObjectStoreCredentials(format: ObjectStoreCredentialsFormat, keys: ObjectStoreKeyPair): string {
  switch (format) {
    case "seaweedfsIdentities":
      return seaweedfsIdentities(keys);
    case "curlConfig":
      return curlConfig(keys);
    case "awsSharedCredentials":
      return awsSharedCredentials(keys);
  }
}
