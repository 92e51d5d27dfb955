/**
 * The form's settings kept in sessionStorage: they survive a reload of the tab and go with it,
 * so an API key is never written to disk by the page.
 */
const PREFIX = "gearbox-playground:";

export function remembered(name: string): string | null {
  try {
    return sessionStorage.getItem(PREFIX + name);
  } catch {
    return null; // storage disabled: the page still works, it just forgets
  }
}

export function remember(name: string, value: string): void {
  try {
    if (value === "") sessionStorage.removeItem(PREFIX + name);
    else sessionStorage.setItem(PREFIX + name, value);
  } catch {
    // storage disabled or full: nothing to keep
  }
}
