// Who is at the till. Chosen at shift start (ui/views/shift-start.js) from the manager's
// cashier list; with no list the default cashier 收银员 works the till, as before the list
// existed. Everything that records or shows the cashier reads it here. A shift change
// reloads the page, so the name is fixed for the life of a cashier screen.

/** The same name as the core's roles::DEFAULT_CASHIER, the one it accepts with no list. */
export const DEFAULT_CASHIER = '收银员';

let current = DEFAULT_CASHIER;
let choosable = false;

/** The cashier whose shift is open. */
export function currentCashier() {
  return current;
}

/** Whether there is a list to choose from (交班 is offered only then). */
export function shiftChoosable() {
  return choosable;
}

export function setShift(name, fromList) {
  current = name;
  choosable = fromList;
}

/**
 * Whether the chooser must be shown at launch: more than one cashier, or any with a PIN. A
 * single cashier without a PIN starts at once; an empty list means the default cashier.
 */
export function needsChooser(cashiers) {
  return cashiers.length > 1 || cashiers.some((c) => c.has_pin);
}
