/**
 * What a console password must be when an account is made or its password changed (`console.js user
 * add|passwd`): the lockout slows guessing online, this keeps the first guesses from being the right ones
 * (issue row 1). Long enough, not the account's own name, not one of the passwords every guesser tries
 * first. The list is the ranked common-password dictionary of zxcvbn-ts (@zxcvbn-ts/language-common,
 * ~30,000 passwords from public leaks), loaded only when a password is set (by the command line, or by
 * the running console when an admin sets one on the accounts page), never merely to serve pages.
 */

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;
/** `aaaaaaaaaa` and `1212121212` pass the length but are among the first guesses. */
const MIN_DISTINCT = 4;

export type PasswordProblemCode = 'too_short' | 'too_long' | 'is_name' | 'common' | 'repetitive';

/** The clerk's words for each problem, Chinese first. */
const WORDS: Record<PasswordProblemCode, { zh: string; en: string }> = {
  too_short: { zh: `密码太短：至少 ${PASSWORD_MIN} 个字符。`, en: `The password is too short: at least ${PASSWORD_MIN} characters.` },
  too_long: { zh: `密码太长：最多 ${PASSWORD_MAX} 个字符。`, en: `The password is too long: at most ${PASSWORD_MAX} characters.` },
  is_name: { zh: '密码不能是用户名（加数字或符号也不行）。', en: 'The password must not be the account name (nor the name with digits or symbols added).' },
  common: { zh: '这是常见密码，很容易被猜中，请换一个。', en: 'This is a common password that is easy to guess; choose another one.' },
  repetitive: { zh: `密码里不同的字符太少：至少要有 ${MIN_DISTINCT} 种。`, en: `The password has too few different characters: at least ${MIN_DISTINCT}.` },
};

export interface PasswordProblem {
  code: PasswordProblemCode;
  zh: string;
  en: string;
}

/** An error whose message carries both languages (the command line prints it as it is). */
export class PasswordPolicyError extends Error {
  constructor(readonly problem: PasswordProblem) {
    super(`${problem.zh}\n${problem.en}`);
  }
}

let common: Promise<ReadonlySet<string>> | undefined;

/** The common passwords, lower-cased (the dictionary is lower-case). */
export function commonPasswords(): Promise<ReadonlySet<string>> {
  return (common ??= import('@zxcvbn-ts/language-common').then(({ dictionary }) => new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))));
}

/** Digits and punctuation stuck before or after a word (`password2024!`, `!!qwerty`): guessers add them first. */
const core = (s: string): string => s.replace(/^[\d\p{P}\p{S}\s]+|[\d\p{P}\p{S}\s]+$/gu, '');

const problem = (code: PasswordProblemCode): PasswordProblem => ({ code, ...WORDS[code] });

/** The first reason `password` may not be set for `name`, or null when it may. */
export async function passwordProblem(name: string, password: string): Promise<PasswordProblem | null> {
  const length = [...password].length;
  if (length < PASSWORD_MIN) return problem('too_short');
  if (length > PASSWORD_MAX) return problem('too_long');
  const lower = password.toLowerCase();
  const n = name.toLowerCase();
  const reversed = [...n].reverse().join('');
  const c = core(lower);
  if (lower === n || c === n || lower === reversed || c === reversed) return problem('is_name');
  if (new Set(password).size < MIN_DISTINCT) return problem('repetitive');
  const list = await commonPasswords();
  if (list.has(lower) || (c.length >= 4 && list.has(c))) return problem('common');
  return null;
}

/** Throws a PasswordPolicyError when `password` may not be set for `name`. */
export async function checkNewPassword(name: string, password: string): Promise<void> {
  const p = await passwordProblem(name, password);
  if (p) throw new PasswordPolicyError(p);
}
