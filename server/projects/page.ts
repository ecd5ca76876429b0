/** One page of a listing, as the stores and the repository catalog are asked for it. */
export interface PageRequest {
  readonly offset: number;
  readonly limit: number;
}

/** The items of one page and how many there are in all (Harbor's `X-Total-Count`). */
export interface Page<T> {
  readonly total: number;
  readonly items: readonly T[];
}
