// The error code a promise rejects with ('no error' when it resolves): tests assert
// codes, never messages.
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded ${String(e)}`;
  }
}
