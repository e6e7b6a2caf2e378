import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import type { ImageModel } from "../model";

export interface ServiceImageArgs {
  image: ImageModel;
  /** Directory build contexts are relative to (the project root). */
  projectDir: string;
}

/**
 * A pinned image pulled by reference, or one built from a Dockerfile in the project (the app; the
 * collector with its queue directory). `imageRef` changes
 * when the image does, which replaces the containers that run it.
 */
export class ServiceImage extends pulumi.ComponentResource {
  readonly imageRef: pulumi.Output<string>;

  constructor(name: string, args: ServiceImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tracing-stack:index:ServiceImage", name, {}, opts);
    const image = args.image;
    if (image.kind === "pinned") {
      const remote = new docker.RemoteImage(name, { name: image.ref, keepLocally: true }, { parent: this });
      this.imageRef = remote.imageId;
    } else {
      const built = new docker.Image(
        name,
        {
          imageName: image.imageName,
          build: {
            context: path.join(args.projectDir, image.context),
            dockerfile: path.join(args.projectDir, image.dockerfile),
            platform: "linux/amd64",
            ...(image.args ? { args: image.args } : {}),
          },
          skipPush: true,
        },
        { parent: this },
      );
      // For a local build repoDigest is the image id (sha256:...), new on every changed build.
      this.imageRef = built.repoDigest;
    }
    this.registerOutputs({ imageRef: this.imageRef });
  }
}
