// Who is at the till. Until shift start exists (a later issue) every attempt is made by this
// one default cashier; everything that needs the name imports it from here.
export const CASHIER = '收银员';
