/** CloudFormation building blocks shared by every part of the template. */

export type Cfn = Record<string, unknown>;

export const sub = (text: string) => ({ 'Fn::Sub': text });
export const getAtt = (id: string, attribute: string) => ({ 'Fn::GetAtt': [id, attribute] });

/**
 * A logical id made from a name: its words (letters and digits) capitalised and joined, with
 * any `${...}` placeholder of a raw config key left out.
 */
export function logicalId(text: string): string {
  return text
    .replace(/\$\{[^}]*\}/g, ' ')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => (word[0] as string).toUpperCase() + word.slice(1))
    .join('');
}

/** What each part of the template (one per handler, plus the common ones) adds to it. */
export interface InfraPart {
  functions: Cfn;
  resources: Cfn;
  outputs: Cfn;
}
