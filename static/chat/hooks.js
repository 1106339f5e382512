// Extension points for the feature modules (threads, reactions, pins, search, rooms): the core modules
// call these, so each feature lives in its own file and the core keeps a one-line hook per place.

export const hooks = {
  /** (main, message, context, mine): add to a message's element (reactions, thread summary, pin). */
  decorate: [],
  /** (message, mine, context) => button | null: more buttons for a message's toolbar. */
  actions: [],
  /** (frame): every frame of the open room's socket. */
  roomFrame: [],
  /** (frame): every frame of the personal socket (/ws/notifications/). */
  personalFrame: [],
};

export function run(list, ...args) {
  const results = [];
  for (const fn of list) {
    try {
      results.push(fn(...args));
    } catch (error) {
      console.warn("feature hook failed", error); // one feature failing never breaks the page
    }
  }
  return results;
}
