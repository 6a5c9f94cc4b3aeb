/** A financing input the maths refuses; `field` names the input field (dotted path for nested ones). */
export class QuoteInputError extends Error {
  readonly code = 'invalid_financing_input';
  readonly statusCode = 400;
  override readonly name = 'QuoteInputError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
