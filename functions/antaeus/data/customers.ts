import { asc, eq } from "drizzle-orm";
import type { Customer } from "../domain/invoice.js";
import type { Db } from "./database.js";
import { customers } from "./schema.js";

export async function findCustomer(db: Db, id: number): Promise<Customer | undefined> {
  const [row] = await db.select().from(customers).where(eq(customers.id, id));
  return row;
}

export const listCustomers = (db: Db): Promise<Customer[]> =>
  db.select().from(customers).orderBy(asc(customers.id));
