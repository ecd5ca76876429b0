import { describeOnEachDatabase } from "../../test/support/databases.js";
import { waitFor } from "../../test/support/processes.js";

describeOnEachDatabase("LISTEN/NOTIFY", (databases) => {
  it("delivers a NOTIFY once its transaction commits, and nothing from a rolled-back one", async () => {
    const { db, dispose } = await databases.create();
    const received: string[] = [];
    const stop = await db.listen(
      "trustdock_test",
      (payload) => received.push(payload),
      () => received.push("<gap>"),
    );
    try {
      await expect(
        db.transaction(async (tx) => {
          await tx.query("SELECT pg_notify('trustdock_test', 'rolled-back')");
          throw new Error("abort");
        }),
      ).rejects.toThrow("abort");
      await db.transaction(async (tx) => {
        await tx.query("SELECT pg_notify('trustdock_test', $1)", ["committed"]);
      });
      await waitFor("the notification", async () => (received.length > 0 ? true : undefined), 5000);
      expect(received).toEqual(["committed"]);
    } finally {
      await stop();
      await dispose();
    }
  });
});
