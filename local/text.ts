/** Small pieces of what the local runner and the tests print. */

/** `1 call`, `2 calls`: a count with its noun in the right number. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/**
 * On a Node older than the AWS SDK's next minimum, says so in one line and silences the SDK's
 * own ten-line warning (which every process that makes a client would print). Returns the
 * line, or undefined when there is nothing to say.
 */
export function quietSdkNodeWarning(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const major = Number(process.versions.node.split('.')[0]);
  const already = env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === 'true';
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  if (major >= 22 || already) return undefined;
  return `note: Node ${process.versions.node}: AWS SDK releases after the first week of January 2027 require Node 22 or later`;
}
